"""Staff logins (admins and the front desk): admins create, list and remove them."""
