"""The demo clinic that `dentalcare serve --demo` loads."""
