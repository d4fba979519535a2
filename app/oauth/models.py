"""OAuth tables: clients, authorization codes and tokens.

Nothing here is usable if copied: client secrets, codes, access and refresh tokens are stored only
as HMAC-SHA256 of the value (``app.core.crypto.hash_token``, one derived key per kind), never in
clear. Authlib's SQLAlchemy mixins are deliberately not used: they keep ``client_secret`` in clear
(docs/security.md "OAuth 2 authorization server").

- ``oauth_client``: a third-party platform. Created disabled; exact redirect URIs; its own grants and
  scopes (JSON lists of strings).
- ``oauth_authorization_code``: single-use (``used_at`` is claimed atomically), 60 s, bound to the
  client, the redirect URI, the patient and a PKCE S256 challenge.
- ``oauth_token``: one row per issued access token and its refresh token. ``family_id`` ties every
  rotation of one grant together (RFC 9700 §4.14.2: a reused refresh token revokes the family);
  ``family_started_at`` carries the absolute 30-day refresh lifetime across rotations; ``code_id``
  names the code that started the family so a replayed code revokes what it issued (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class OAuthClient(SQLModel, table=True):
    __tablename__ = "oauth_client"

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=120)
    secret_hash: str = Field(max_length=64)
    redirect_uris: list[str] = Field(sa_type=sa.JSON)
    grant_types: list[str] = Field(sa_type=sa.JSON)
    scopes: list[str] = Field(sa_type=sa.JSON)
    enabled: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OAuthAuthorizationCode(SQLModel, table=True):
    __tablename__ = "oauth_authorization_code"

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    client_id: str = Field(max_length=64, foreign_key="oauth_client.client_id", index=True)
    account_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="account.id", index=True)
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=500)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=8)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OAuthToken(SQLModel, table=True):
    __tablename__ = "oauth_token"
    __table_args__ = (sa.Index("ix_oauth_token_account_client", "account_id", "client_id"),)

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    client_id: str = Field(max_length=64, foreign_key="oauth_client.client_id", index=True)
    #: the patient the token acts for; None for client_credentials
    account_id: uuid.UUID | None = Field(default=None, sa_type=sa.Uuid, foreign_key="account.id")
    access_hash: str = Field(max_length=64, unique=True)
    refresh_hash: str | None = Field(default=None, max_length=64, unique=True)
    scope: str = Field(max_length=500)
    grant_type: str = Field(max_length=32)
    family_id: uuid.UUID = Field(sa_type=sa.Uuid, index=True)
    family_started_at: datetime = Field(sa_type=UTCDateTime)
    code_id: uuid.UUID | None = Field(default=None, sa_type=sa.Uuid, index=True)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    access_expires_at: datetime = Field(sa_type=UTCDateTime)
    refresh_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: set when this refresh token was exchanged for the next one (rotation)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
