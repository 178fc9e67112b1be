"""The OCI distribution and image specs as pure code: no I/O, no imports of ours."""
