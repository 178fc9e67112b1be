"""Background work: purging idle uploads, deleting repositories. Runs inside each server
process (or standalone later); every job is safe to run from many processes at once."""
