from . import openai_usage
from . import tracked_transport
from . import prometheus_text
