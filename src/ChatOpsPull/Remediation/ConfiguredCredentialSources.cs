using ChatOpsPull.Diagnosing;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Remediation;

/// <summary>
/// Tells the diagnosis which registries have a credential source under Remediation:CredentialSources, so "refresh
/// credentials" is offered exactly where the refresh action can carry it out.
/// </summary>
public sealed class ConfiguredCredentialSources(IOptionsMonitor<RemediationOptions> options) : ICredentialSourceCatalog
{
    public bool HasSourceFor(string registryHost) => options.CurrentValue.SourceFor(registryHost) is not null;
}
