"""Written by `chokepoint-data build`; do not edit. The sha256 of datapackage.json beside it,
checked by the loader before it trusts the descriptor."""

DESCRIPTOR_SHA256 = "6f5885d8cdb17d34b43f54dfb31980f1213f8bbaad73af7b7722cfea7929d147"
