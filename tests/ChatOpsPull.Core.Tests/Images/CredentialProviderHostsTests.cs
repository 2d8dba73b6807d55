using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Tests.Images;

/// <summary>Hosts whose pulls a node credential provider plugin may authenticate (matchImages of the ECR, GCP and ACR providers).</summary>
public sealed class CredentialProviderHostsTests
{
    [Theory]
    [InlineData("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "Amazon ECR")]
    [InlineData("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "Amazon ECR")]
    [InlineData("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "Amazon ECR")]
    [InlineData("gcr.io", "Google Artifact Registry / GCR")]
    [InlineData("eu.gcr.io", "Google Artifact Registry / GCR")]
    [InlineData("europe-west1-docker.pkg.dev", "Google Artifact Registry / GCR")]
    [InlineData("myregistry.azurecr.io", "Azure Container Registry")]
    [InlineData("MyRegistry.AzureCR.io:443", "Azure Container Registry")]
    public void Provider_registries_are_recognised(string host, string provider) =>
        Assert.Equal(provider, CredentialProviderHosts.ProviderFor(host));

    [Theory]
    [InlineData("docker.io")]
    [InlineData("ghcr.io")]
    [InlineData("public.ecr.aws")]
    [InlineData("12345.dkr.ecr.eu-west-1.amazonaws.com")]
    [InlineData("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example")]
    [InlineData("gcr.io.evil.example")]
    [InlineData("azurecr.io")]
    [InlineData("registry.example.com:5000")]
    public void Other_registries_are_not(string host) =>
        Assert.Null(CredentialProviderHosts.ProviderFor(host));
}
