//! The errors KMS answers with: the `__type` names and status codes of the wire.

/// Errors KMS answers with; names and status codes follow docs/aws-behaviour.md §4.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// The key, alias or ARN does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The key is disabled.
    #[error("{0}")]
    Disabled(String),
    /// The ciphertext is invalid or its context does not match.
    #[error("The ciphertext is invalid or the encryption context does not match.")]
    InvalidCiphertext,
    /// Decrypt named a key other than the one in the ciphertext.
    #[error(
        "The key ID in the request does not identify a KMS key that can perform this operation."
    )]
    IncorrectKey,
    /// Over the request quota.
    #[error(
        "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
    )]
    Throttling,
    /// Bad request parameters.
    #[error("{0}")]
    Validation(String),
    /// An alias that already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// An injected internal error.
    #[error("An internal error occurred.")]
    Internal,
    /// The key's state does not allow the operation (e.g. pending deletion).
    #[error("{0}")]
    InvalidState(String),
}

impl KmsError {
    /// The `__type` shape name of the error.
    pub fn type_name(&self) -> &'static str {
        match self {
            KmsError::NotFound(_) => "NotFoundException",
            KmsError::Disabled(_) => "DisabledException",
            KmsError::InvalidCiphertext => "InvalidCiphertextException",
            KmsError::IncorrectKey => "IncorrectKeyException",
            KmsError::Throttling => "ThrottlingException",
            KmsError::Validation(_) => "ValidationException",
            KmsError::AlreadyExists(_) => "AlreadyExistsException",
            KmsError::Internal => "KMSInternalException",
            KmsError::InvalidState(_) => "KMSInvalidStateException",
        }
    }

    /// The HTTP status KMS answers with: 400 for every client error, whatever the
    /// API model's `httpError` hints say (docs/aws-behaviour.md §5).
    pub fn status(&self) -> u16 {
        match self {
            KmsError::Internal => 500,
            _ => 400,
        }
    }
}
