namespace ChatOpsPull.Diagnosing;

/// <summary>Whether the operator configured a credential source for a registry host (so "refresh credentials" can be offered).</summary>
public interface ICredentialSourceCatalog
{
    bool HasSourceFor(string registryHost);
}

/// <summary>No credential sources configured: refresh is never offered.</summary>
public sealed class NoCredentialSources : ICredentialSourceCatalog
{
    public bool HasSourceFor(string registryHost) => false;
}
