"""The command palette (`ctrl+p`): every view and every action that applies now."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider


class AmeCommands(Provider):
    def _commands(self):
        return self.app.palette_commands(self.screen)  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
