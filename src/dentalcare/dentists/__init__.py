"""The dentist directory and its administration."""
