"""ToAPIs: the async image-task API (submit, poll by id, result URLs), behind ``ImageProvider``."""
