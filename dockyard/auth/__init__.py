"""Identity and permission: who is asking, and what they may do to which repository."""
