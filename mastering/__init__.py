"""The customer master: normalisation, matching, stable canonical IDs, steward decisions."""
