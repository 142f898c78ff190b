"""The bad-input fuzz suite (issue 9, deliverable b): see VALIDATION.md, "Bad input and fuzzing"."""
