"""The back office: sign-in, accounts and roles, admin pages, dish catalog and menus, forms."""
