//! Microsoft Entra ID through Microsoft Graph: sign-in (OAuth 2.0 client
//! credentials with a secret or a certificate, or the device code flow) and
//! the few Graph reads the tenant checks need. Tokens live in memory only.
