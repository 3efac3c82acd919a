"""Patient records and data rights: search, the patient page, export and erasure.

A registered patient's id is their user id. A guest (bookings without an account) has no
row of their own: their id is derived from the booking e-mail, `md5('guest:' ||
lower(email))` read as a UUID (`guest_id()`), the same in SQL and Python, so it is stable
for as long as the address is (an erased guest's bookings get a new, erased address).
"""
