using ArchUnitNET.Domain;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Architecture;

/// <summary>
/// Keeps the service's folders in the layers docs/architecture.md shows: infrastructure → application → presentation →
/// the composition root (Hosting). A folder may use folders of lower layers, and folders of its own layer only as long as
/// no two folders end up needing each other. Dependencies are read from the compiled types (ArchUnitNET), so global
/// usings, full names and generic arguments count, not only <c>using</c> lines.
/// </summary>
public sealed class LayerTests(ITestOutputHelper output)
{
    private const string Root = "ChatOpsPull";

    /// <summary>Every top-level folder of src/ChatOpsPull and its layer. A new folder must be placed here.</summary>
    public static readonly IReadOnlyDictionary<string, Layer> Folders = new Dictionary<string, Layer>(StringComparer.Ordinal)
    {
        ["Configuration"] = Layer.Infrastructure,
        ["Observability"] = Layer.Infrastructure,
        ["Storage"] = Layer.Infrastructure,
        ["Jobs"] = Layer.Infrastructure,
        ["Kubernetes"] = Layer.Infrastructure,
        ["Registry"] = Layer.Infrastructure,
        ["Detection"] = Layer.Application,
        ["Incidents"] = Layer.Application,
        ["Diagnosing"] = Layer.Application,
        ["Remediation"] = Layer.Application,
        ["Approvals"] = Layer.Application,
        ["Digest"] = Layer.Application,
        ["Prevention"] = Layer.Application,
        ["Chat"] = Layer.Presentation,
        ["Web"] = Layer.Presentation,
        ["Cli"] = Layer.Presentation,
        ["Admission"] = Layer.Presentation,
        ["Hosting"] = Layer.Composition,
    };

    public enum Layer
    {
        Infrastructure = 1,
        Application = 2,
        Presentation = 3,
        Composition = 4,
    }

    private static readonly Lazy<List<(string From, string To, string Origin, string Target)>> Edges = new(ReadEdges);

    [Fact]
    public void Every_folder_of_the_service_has_a_layer()
    {
        var source = Path.Combine(RepositoryRoot(), "src", Root);
        var folders = Directory.GetDirectories(source)
            .Select(Path.GetFileName)
            .Where(name => name is not ("bin" or "obj" or "Properties"))
            .Where(name => Directory.EnumerateFiles(Path.Combine(source, name!), "*.cs", SearchOption.AllDirectories).Any())
            .ToList();
        Assert.DoesNotContain(folders, f => !Folders.ContainsKey(f!));
    }

    [Fact]
    public void No_folder_uses_a_folder_of_a_higher_layer()
    {
        var upward = Edges.Value
            .Where(e => Folders[e.From] < Folders[e.To])
            .Select(e => $"{e.From} ({Folders[e.From]}) → {e.To} ({Folders[e.To]}): {e.Origin} uses {e.Target}")
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        upward.ForEach(output.WriteLine);
        Assert.Empty(upward);
    }

    [Fact]
    public void No_two_folders_depend_on_each_other_even_through_others()
    {
        var graph = Edges.Value.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        var cycles = new List<string>();
        foreach (var (from, targets) in graph)
        {
            foreach (var to in targets)
            {
                if (string.CompareOrdinal(from, to) < 0 && Reaches(graph, to, from))
                {
                    cycles.Add($"{from} → {to} and back: {Example(from, to)} / {Example(to, from, graph)}");
                }
            }
        }

        cycles.ForEach(output.WriteLine);
        Assert.Empty(cycles);
    }

    private static string Example(string from, string to)
    {
        var edge = Edges.Value.First(e => e.From == from && e.To == to);
        return $"{edge.Origin} uses {edge.Target}";
    }

    private static string Example(string from, string to, Dictionary<string, HashSet<string>> graph)
    {
        var direct = Edges.Value.FirstOrDefault(e => e.From == from && e.To == to);
        if (direct != default)
        {
            return $"{direct.Origin} uses {direct.Target}";
        }

        var via = graph[from].First(next => Reaches(graph, next, to));
        return $"{Example(from, via)} (then on to {to})";
    }

    private static bool Reaches(Dictionary<string, HashSet<string>> graph, string from, string to)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>([from]);
        while (todo.TryPop(out var at))
        {
            if (at == to)
            {
                return true;
            }

            if (seen.Add(at) && graph.TryGetValue(at, out var next))
            {
                foreach (var n in next)
                {
                    todo.Push(n);
                }
            }
        }

        return false;
    }

    private static List<(string From, string To, string Origin, string Target)> ReadEdges()
    {
        var architecture = ServiceArchitecture.Types;
        var edges = new List<(string, string, string, string)>();
        foreach (var type in architecture.Types)
        {
            if (FolderOf(type) is not { } from)
            {
                continue;
            }

            foreach (var dependency in type.Dependencies)
            {
                if (FolderOf(dependency.Target) is { } to && to != from && !IsGenericParameter(dependency.Target))
                {
                    edges.Add((from, to, Outer(type), Outer(dependency.Target)));
                }
            }
        }

        return edges;
    }

    /// <summary>
    /// A generic parameter is not a type anyone depends on. ArchUnitNET also names the method parameter of the helper
    /// every System.Text.Json generated context has after the first such context it met (one in Web), so counting it
    /// would make every generated context seem to use Web.
    /// </summary>
    private static bool IsGenericParameter(IType target) => target is GenericParameter;

    private static string Outer(IType type) => ServiceArchitecture.Outer(type);

    private static string? FolderOf(IType type)
    {
        var ns = type.Namespace?.FullName ?? string.Empty;
        if (!ns.StartsWith(Root + ".", StringComparison.Ordinal) || type.Assembly.Name.Split(',')[0] != "chatopspull")
        {
            return null;
        }

        var folder = ns[(Root.Length + 1)..].Split('.')[0];
        return Folders.ContainsKey(folder) ? folder : throw new InvalidOperationException($"{type.FullName} is in folder {folder}, which has no layer");
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ChatOpsPull.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("ChatOpsPull.sln not found above " + AppContext.BaseDirectory);
    }
}
