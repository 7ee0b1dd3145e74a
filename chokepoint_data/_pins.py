"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "9c85a95b184fcd224c52adc42d732b106630ca8a4ba5ed843f91cfdac67b798d"
