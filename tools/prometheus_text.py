"""Prometheus text exposition format (version 0.0.4), written by hand: a
handful of families does not need the prometheus_client package."""


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value):
    if isinstance(value, float) and value.is_integer():
        return repr(float(value))
    return repr(value) if isinstance(value, float) else str(value)


def family(name, kind, help_text, samples):
    """Lines of one metric family; ``samples``: (suffix, labels dict, value)."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for suffix, labels, value in samples:
        label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
        lines.append(
            f"{name}{suffix}{{{label_text}}} {_number(value)}"
            if labels
            else f"{name}{suffix} {_number(value)}"
        )
    return lines
