"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "35dc2027c247ff8932034bdf2b725a1c0b4b253fd5136d462b98e0fa34dfaf72"
