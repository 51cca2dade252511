export const IDENTITY_PLACEHOLDER = 'src' as const
