"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "61fdc54fcbc3cbbfb5ae70cca52697240bbd293263e7ddf4f416c0082cac127c"
