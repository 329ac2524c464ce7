from . import gateway, main
