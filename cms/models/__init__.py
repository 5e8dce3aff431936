"""SQLAlchemy models only; behaviour lives in ``cms.services``."""

from cms.models.article import (
    CONTENT_FIELDS,
    STATUSES,
    Article,
    ArticleAuthor,
    ArticleSource,
    RelatedLink,
    SlugRedirect,
    StoredCard,
    Summary,
    article_tags,
)
from cms.models.audit import AuditEvent
from cms.models.distribution import CORRECTION_KINDS, TAKEDOWN_REASONS, Correction, Takedown
from cms.models.events import (
    ArticleEventState,
    Event,
    EventTopic,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from cms.models.generation import ContentGeneration
from cms.models.idempotency import IdempotencyKey
from cms.models.preview import PreviewKey
from cms.models.rate_limit import RateLimitCounter
from cms.models.revision import Revision
from cms.models.suggestion import (
    ArticleEmbedding,
    ArticleFeatures,
    DerivedJob,
    FeatureKey,
    Suggestion,
    TermStat,
)
from cms.models.taxonomy import SOURCE_KINDS, Author, Section, Source, Tag
from cms.models.user import ROLES, LoginSession, User

__all__ = [
    "CONTENT_FIELDS",
    "CORRECTION_KINDS",
    "TAKEDOWN_REASONS",
    "Correction",
    "Takedown",
    "ROLES",
    "SOURCE_KINDS",
    "STATUSES",
    "Article",
    "ArticleAuthor",
    "StoredCard",
    "ArticleEmbedding",
    "ArticleEventState",
    "ArticleFeatures",
    "DerivedJob",
    "Event",
    "EventTopic",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "FeatureKey",
    "IdempotencyKey",
    "Suggestion",
    "TermStat",
    "ArticleSource",
    "AuditEvent",
    "ContentGeneration",
    "Author",
    "LoginSession",
    "PreviewKey",
    "RateLimitCounter",
    "RelatedLink",
    "Revision",
    "Section",
    "SlugRedirect",
    "Source",
    "Summary",
    "Tag",
    "User",
    "article_tags",
]
