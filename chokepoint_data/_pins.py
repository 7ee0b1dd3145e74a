"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "bb6c9b05ff00a0f277f872011adc5b1cacbcd6a06637f45857c8bd738abe5f9e"
