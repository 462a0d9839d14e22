"""Users, roles and permissions, enforced in engine services; login with argon2, a TOTP second
factor (engine.access.mfa) and lock-out."""

from engine.access.guard import require
from engine.access.permissions import ROLE_PERMISSIONS, Permission, permissions_of

__all__ = ["ROLE_PERMISSIONS", "Permission", "permissions_of", "require"]
