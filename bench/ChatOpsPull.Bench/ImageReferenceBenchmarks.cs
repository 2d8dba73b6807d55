using BenchmarkDotNet.Attributes;
using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Bench;

[MemoryDiagnoser]
public class ImageReferenceBenchmarks
{
    [Benchmark]
    public ImageReference ShortName() => ImageReference.Parse("nginx");

    [Benchmark]
    public ImageReference RegistryPortTagDigest() =>
        ImageReference.Parse("registry.example.com:5000/team/app:1.4.2@sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa");

    [Benchmark]
    public ImageReference EcrWithTag() =>
        ImageReference.Parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/payments-api:2024.11.3");

    [Benchmark]
    public string? InvalidWithExplanation() =>
        ImageReference.TryParse("https://harbor.example.com/Team/app:1.0", out _, out var error) ? null : error;
}
