from . import attachments
from . import http_client
from . import openai_usage
from . import prometheus_text
from . import streams
from . import token_estimate
from . import tracked_transport
