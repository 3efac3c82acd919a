"""Accounts, passwords, tokens and the role guards."""
