"""naver-sms: rule-driven booking notifications for Naver Smart Place stores."""

__version__ = "0.1.0"
