"""Who is calling, in one package: browser sessions (``sessions``), the caller a session or a Bearer
token resolves to (``callers``), and the one door every route declares (``authenticator``)."""
