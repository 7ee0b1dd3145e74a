"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "cfb66dd134ed3ea0841d7cd128ddb9a06c22623e2a8e127fb8d8229ca339f05f"
