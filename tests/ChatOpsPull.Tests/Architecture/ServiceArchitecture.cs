using ArchUnitNET.Domain;
using ArchUnitNET.Loader;

namespace ChatOpsPull.Tests.Architecture;

/// <summary>The service's compiled types as ArchUnitNET reads them, loaded once for every architecture test.</summary>
public static class ServiceArchitecture
{
    private static readonly Lazy<ArchUnitNET.Domain.Architecture> Loaded = new(() => new ArchLoader().LoadAssemblies(typeof(Program).Assembly).Build());

    public static ArchUnitNET.Domain.Architecture Types => Loaded.Value;

    /// <summary>The type a compiler-generated or nested type belongs to ("A+&lt;RunAsync&gt;d__3" is A).</summary>
    public static string Outer(IType type) => type.FullName.Split('+')[0];
}
