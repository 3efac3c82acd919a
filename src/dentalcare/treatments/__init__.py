"""Treatment types: what is being done, how long it takes and who performs it."""
