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
        ImageReference.Parse("registry.example.com:5000/team/app:1.4.2@sha256:7cc4b5aefd1d0cadf8d97d4350462ba6a9a6ee5ffd0a2cf3d6f9c5a7a6a7c1f0");
}
