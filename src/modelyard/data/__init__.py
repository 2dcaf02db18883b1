"""Data versioning: content-addressed dataset versions with profiles, and the runs that used them."""
