"""What the demo seed reports: the logins and TOTP secrets a newcomer needs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DemoReport:
    """What the seed created or found, printed for a newcomer (logins, TOTP secrets)."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)
