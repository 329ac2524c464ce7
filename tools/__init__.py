from . import openai_usage
