"""The delivery report: what CBS will see, before the upload."""
