"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "6eaebe9aa37b3501068bdb2d318d3082b92cd150689b1e0d2a5ddbe9eae47d20"
