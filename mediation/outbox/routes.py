"""Which destinations hear which events: decided at commit, from the settings.

An event becomes one outbox row per destination whose route takes it: the
webhook endpoint (every topic, or those `MEDIATION_WEBHOOK_TOPICS` names),
Zendesk (its topics, for rooms whose ticket is a Zendesk ticket), mail
(`party.waiting`, to someone with an address). A destination configured
later hears events from then on, not before.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from mediation.outbox.delivery import Destination


@dataclass(frozen=True, slots=True)
class Route:
    destination: str
    topics: frozenset[str] | None = None  # None: every topic
    providers: frozenset[str] | None = None  # None: rooms of any ticket provider

    def takes(self, topic: str, provider: str) -> bool:
        return (self.topics is None or topic in self.topics) and (
            self.providers is None or provider in self.providers
        )


@dataclass(frozen=True, slots=True)
class Outbound:
    """A ticket provider's destination and the topics it hears, for its own rooms only."""

    destination: Destination
    topics: frozenset[str]

    def route(self, provider: str) -> Route:
        return Route(self.destination.name, self.topics, frozenset({provider}))


class Routes:
    def __init__(self, routes: Sequence[Route] = ()) -> None:
        self._routes = tuple(routes)

    def __bool__(self) -> bool:
        return bool(self._routes)

    def of(self, topic: str, provider: str) -> list[str]:
        """The destinations an event of `topic` in a room of `provider` goes to."""
        return [r.destination for r in self._routes if r.takes(topic, provider)]
