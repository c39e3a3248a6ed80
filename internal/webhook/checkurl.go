package webhook

// CheckURL validates an absolute http or https URL that deliveries reach,
// such as a webhook's url or an OAuth 2.0 token endpoint, by the rules of the
// url field; field is the input field an error names. Unless allowPrivate is
// set, loopback, private, link-local and metadata addresses and host names
// are refused; names are not resolved (the dial-time guard checks where they
// point).
func CheckURL(field, raw string, allowPrivate bool) error {
	return checkURL(field, raw, allowPrivate)
}
