"""Patient pages: the questions, check-your-answers, results, education pages and print view."""

from .views import bp

__all__ = ["bp"]
