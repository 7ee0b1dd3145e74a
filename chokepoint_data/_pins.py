"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "ce9521a4b728459d5cf307ac84da9eba0e203b7687abc3fdce4a1ae2dfa89f58"
