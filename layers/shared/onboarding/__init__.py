"""SignUpFlow onboarding domain package: one module per concept, shared by every Lambda function."""
