using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace ChatOpsPull.Simulation.KubernetesApi;

/// <summary>
/// Request bodies in "application/vnd.kubernetes.protobuf", which client-go's typed clients (and so kubectl's
/// `create deployment`, `create job --from`, `auth can-i`, `auth whoami`) send for built-in types: the "k8s\0" envelope
/// around a runtime.Unknown (typeMeta = 1, raw = 2) whose raw bytes are the object in the wire format of
/// k8s.io/api's generated.proto. Decoded to the JSON the same object has, for the messages below (field numbers from
/// k8s.io/api and k8s.io/apimachinery v0.33 generated.proto). Zero scalars are dropped unless the Go field is a pointer
/// (the JSON encoding's omitempty); a field the table does not know answers 415 rather than being lost silently.
/// </summary>
public static class ProtobufBodies
{
    public const string ContentType = "application/vnd.kubernetes.protobuf";

    private static readonly byte[] Magic = [0x6b, 0x38, 0x73, 0x00];

    private enum Kind
    {
        String,
        Int,
        Bool,
        Message,
        StringMap,
        QuantityMap,
        Strings,
        Time,
        IntOrString,
        Quantity,
        Int64s,
        Bytes,
    }

    /// <summary>A field: its number, JSON name, kind, message type (for Message), repeated, and whether a zero value is kept (a Go pointer).</summary>
    private sealed record Field(int Number, string Name, Kind Kind, string? Type = null, bool Repeated = false, bool KeepZero = false);

    private static readonly Dictionary<string, Field[]> Messages = new(StringComparer.Ordinal)
    {
        ["ObjectMeta"] =
        [
            new(1, "name", Kind.String), new(2, "generateName", Kind.String), new(3, "namespace", Kind.String), new(4, "selfLink", Kind.String),
            new(5, "uid", Kind.String), new(6, "resourceVersion", Kind.String), new(7, "generation", Kind.Int), new(8, "creationTimestamp", Kind.Time),
            new(9, "deletionTimestamp", Kind.Time), new(10, "deletionGracePeriodSeconds", Kind.Int, KeepZero: true), new(11, "labels", Kind.StringMap),
            new(12, "annotations", Kind.StringMap), new(13, "ownerReferences", Kind.Message, "OwnerReference", Repeated: true), new(14, "finalizers", Kind.Strings),
        ],
        ["OwnerReference"] =
        [
            new(5, "apiVersion", Kind.String), new(1, "kind", Kind.String), new(3, "name", Kind.String), new(4, "uid", Kind.String),
            new(6, "controller", Kind.Bool, KeepZero: true), new(7, "blockOwnerDeletion", Kind.Bool, KeepZero: true),
        ],
        ["LabelSelector"] = [new(1, "matchLabels", Kind.StringMap), new(2, "matchExpressions", Kind.Message, "LabelSelectorRequirement", Repeated: true)],
        ["LabelSelectorRequirement"] = [new(1, "key", Kind.String), new(2, "operator", Kind.String), new(3, "values", Kind.Strings)],
        ["DeleteOptions"] =
        [
            new(1, "gracePeriodSeconds", Kind.Int, KeepZero: true), new(2, "preconditions", Kind.Message, "Preconditions"), new(3, "orphanDependents", Kind.Bool, KeepZero: true),
            new(4, "propagationPolicy", Kind.String), new(5, "dryRun", Kind.Strings), new(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Kind.Bool, KeepZero: true),
        ],
        ["Preconditions"] = [new(1, "uid", Kind.String), new(2, "resourceVersion", Kind.String)],

        ["SelfSubjectAccessReview"] = [new(1, "metadata", Kind.Message, "ObjectMeta"), new(2, "spec", Kind.Message, "SelfSubjectAccessReviewSpec"), new(3, "status", Kind.Message, "Ignored")],
        ["SelfSubjectAccessReviewSpec"] = [new(1, "resourceAttributes", Kind.Message, "ResourceAttributes"), new(2, "nonResourceAttributes", Kind.Message, "NonResourceAttributes")],
        ["ResourceAttributes"] =
        [
            new(1, "namespace", Kind.String), new(2, "verb", Kind.String), new(3, "group", Kind.String), new(4, "version", Kind.String),
            new(5, "resource", Kind.String), new(6, "subresource", Kind.String), new(7, "name", Kind.String),
            new(8, "fieldSelector", Kind.Message, "SelectorAttributes"), new(9, "labelSelector", Kind.Message, "SelectorAttributes"),
        ],
        ["SelectorAttributes"] = [new(1, "rawSelector", Kind.String), new(2, "requirements", Kind.Message, "LabelSelectorRequirement", Repeated: true)],
        ["NonResourceAttributes"] = [new(1, "path", Kind.String), new(2, "verb", Kind.String)],
        ["SelfSubjectRulesReview"] = [new(1, "metadata", Kind.Message, "ObjectMeta"), new(2, "spec", Kind.Message, "SelfSubjectRulesReviewSpec"), new(3, "status", Kind.Message, "Ignored")],
        ["SelfSubjectRulesReviewSpec"] = [new(1, "namespace", Kind.String)],
        ["SelfSubjectReview"] = [new(1, "metadata", Kind.Message, "ObjectMeta"), new(2, "status", Kind.Message, "Ignored")],

        ["Deployment"] = [new(1, "metadata", Kind.Message, "ObjectMeta"), new(2, "spec", Kind.Message, "DeploymentSpec"), new(3, "status", Kind.Message, "Ignored")],
        ["DeploymentSpec"] =
        [
            new(1, "replicas", Kind.Int, KeepZero: true), new(2, "selector", Kind.Message, "LabelSelector"), new(3, "template", Kind.Message, "PodTemplateSpec"),
            new(4, "strategy", Kind.Message, "DeploymentStrategy"), new(5, "minReadySeconds", Kind.Int), new(6, "revisionHistoryLimit", Kind.Int, KeepZero: true),
            new(7, "paused", Kind.Bool), new(9, "progressDeadlineSeconds", Kind.Int, KeepZero: true),
        ],
        ["DeploymentStrategy"] = [new(1, "type", Kind.String), new(2, "rollingUpdate", Kind.Message, "RollingUpdateDeployment")],
        ["RollingUpdateDeployment"] = [new(1, "maxUnavailable", Kind.IntOrString), new(2, "maxSurge", Kind.IntOrString)],
        ["Job"] = [new(1, "metadata", Kind.Message, "ObjectMeta"), new(2, "spec", Kind.Message, "JobSpec"), new(3, "status", Kind.Message, "Ignored")],
        ["JobSpec"] =
        [
            new(1, "parallelism", Kind.Int, KeepZero: true), new(2, "completions", Kind.Int, KeepZero: true), new(3, "activeDeadlineSeconds", Kind.Int, KeepZero: true),
            new(7, "backoffLimit", Kind.Int, KeepZero: true), new(12, "backoffLimitPerIndex", Kind.Int, KeepZero: true), new(13, "maxFailedIndexes", Kind.Int, KeepZero: true),
            new(4, "selector", Kind.Message, "LabelSelector"), new(5, "manualSelector", Kind.Bool, KeepZero: true), new(6, "template", Kind.Message, "PodTemplateSpec"),
            new(8, "ttlSecondsAfterFinished", Kind.Int, KeepZero: true), new(9, "completionMode", Kind.String), new(10, "suspend", Kind.Bool, KeepZero: true),
            new(14, "podReplacementPolicy", Kind.String), new(15, "managedBy", Kind.String),
        ],
        ["PodTemplateSpec"] = [new(1, "metadata", Kind.Message, "ObjectMeta"), new(2, "spec", Kind.Message, "PodSpec")],
        ["PodSpec"] =
        [
            new(20, "initContainers", Kind.Message, "Container", Repeated: true), new(2, "containers", Kind.Message, "Container", Repeated: true),
            new(3, "restartPolicy", Kind.String), new(4, "terminationGracePeriodSeconds", Kind.Int, KeepZero: true), new(5, "activeDeadlineSeconds", Kind.Int, KeepZero: true),
            new(6, "dnsPolicy", Kind.String), new(7, "nodeSelector", Kind.StringMap), new(8, "serviceAccountName", Kind.String), new(9, "serviceAccount", Kind.String),
            new(21, "automountServiceAccountToken", Kind.Bool, KeepZero: true), new(10, "nodeName", Kind.String), new(11, "hostNetwork", Kind.Bool),
            new(12, "hostPID", Kind.Bool), new(13, "hostIPC", Kind.Bool), new(27, "shareProcessNamespace", Kind.Bool, KeepZero: true),
            new(14, "securityContext", Kind.Message, "Empty"), new(15, "imagePullSecrets", Kind.Message, "LocalObjectReference", Repeated: true),
            new(16, "hostname", Kind.String), new(17, "subdomain", Kind.String), new(19, "schedulerName", Kind.String),
            new(22, "tolerations", Kind.Message, "Toleration", Repeated: true), new(24, "priorityClassName", Kind.String), new(25, "priority", Kind.Int, KeepZero: true),
            new(29, "runtimeClassName", Kind.String), new(30, "enableServiceLinks", Kind.Bool, KeepZero: true), new(31, "preemptionPolicy", Kind.String),
            new(35, "setHostnameAsFQDN", Kind.Bool, KeepZero: true), new(37, "hostUsers", Kind.Bool, KeepZero: true),
        ],
        ["Container"] =
        [
            new(1, "name", Kind.String), new(2, "image", Kind.String), new(3, "command", Kind.Strings), new(4, "args", Kind.Strings), new(5, "workingDir", Kind.String),
            new(6, "ports", Kind.Message, "ContainerPort", Repeated: true), new(7, "env", Kind.Message, "EnvVar", Repeated: true),
            new(8, "resources", Kind.Message, "ResourceRequirements"), new(24, "restartPolicy", Kind.String), new(9, "volumeMounts", Kind.Message, "VolumeMount", Repeated: true),
            new(13, "terminationMessagePath", Kind.String), new(20, "terminationMessagePolicy", Kind.String), new(14, "imagePullPolicy", Kind.String),
            new(16, "stdin", Kind.Bool), new(17, "stdinOnce", Kind.Bool), new(18, "tty", Kind.Bool),
        ],
        ["ContainerPort"] = [new(1, "name", Kind.String), new(2, "hostPort", Kind.Int), new(3, "containerPort", Kind.Int), new(4, "protocol", Kind.String), new(5, "hostIP", Kind.String)],
        ["EnvVar"] = [new(1, "name", Kind.String), new(2, "value", Kind.String)],
        ["ResourceRequirements"] = [new(1, "limits", Kind.QuantityMap), new(2, "requests", Kind.QuantityMap)],
        ["VolumeMount"] =
        [
            new(1, "name", Kind.String), new(2, "readOnly", Kind.Bool), new(7, "recursiveReadOnly", Kind.String), new(3, "mountPath", Kind.String),
            new(4, "subPath", Kind.String), new(5, "mountPropagation", Kind.String), new(6, "subPathExpr", Kind.String),
        ],
        ["LocalObjectReference"] = [new(1, "name", Kind.String)],
        ["Toleration"] = [new(1, "key", Kind.String), new(2, "operator", Kind.String), new(3, "value", Kind.String), new(4, "effect", Kind.String), new(5, "tolerationSeconds", Kind.Int, KeepZero: true)],
        ["Empty"] = [],
        ["Ignored"] = [],
    };

    /// <summary>The JSON object a protobuf request body encodes.</summary>
    public static JsonObject Decode(byte[] body)
    {
        if (body.Length < Magic.Length || !body.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw ApiStatus.BadRequest("the body of the request could not be decoded: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
        }

        string? apiVersion = null, kind = null;
        byte[]? raw = null;
        var reader = new Reader(body, Magic.Length, body.Length);
        while (reader.More)
        {
            var (number, wire) = reader.Tag();
            switch (number)
            {
                case 1 when wire == 2:
                    var meta = reader.Sub();
                    while (meta.More)
                    {
                        var (n, w) = meta.Tag();
                        if (n == 1 && w == 2)
                        {
                            apiVersion = meta.String();
                        }
                        else if (n == 2 && w == 2)
                        {
                            kind = meta.String();
                        }
                        else
                        {
                            meta.Skip(w);
                        }
                    }

                    break;
                case 2 when wire == 2:
                    raw = reader.Bytes();
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (kind is null || raw is null || !Messages.ContainsKey(kind) || kind is "Empty" or "Ignored")
        {
            throw Unsupported($"the fake API server does not decode protobuf {apiVersion} {kind}; send JSON");
        }

        var obj = DecodeMessage(new Reader(raw, 0, raw.Length), kind);
        var result = new JsonObject { ["kind"] = kind, ["apiVersion"] = apiVersion };
        foreach (var (key, value) in obj)
        {
            result[key] = value?.DeepClone();
        }

        return result;
    }

    private static JsonObject DecodeMessage(Reader reader, string type)
    {
        var fields = Messages[type];
        var obj = new JsonObject();
        while (reader.More)
        {
            var (number, wire) = reader.Tag();
            var field = fields.FirstOrDefault(f => f.Number == number);
            if (field is null || type == "Ignored")
            {
                var start = reader.Position;
                reader.Skip(wire);
                if (type != "Ignored" && reader.Position - start > (wire == 2 ? 1 : 0) && !IsZero(wire, reader, start))
                {
                    throw Unsupported($"the fake API server cannot decode field {number} of protobuf {type}; send JSON");
                }

                continue;
            }

            JsonNode? value = field.Kind switch
            {
                Kind.String => reader.String(),
                Kind.Int => Varint(reader, wire),
                Kind.Bool => Varint(reader, wire) != 0,
                Kind.Message => DecodeMessage(reader.Sub(), field.Type!),
                Kind.Time => Time(reader.Sub()),
                Kind.IntOrString => IntOrString(reader.Sub()),
                Kind.Quantity => QuantityString(reader.Sub()),
                Kind.Bytes => Convert.ToBase64String(reader.Bytes()),
                Kind.Strings => reader.String(),
                Kind.Int64s => Varint(reader, wire),
                Kind.StringMap or Kind.QuantityMap => MapEntry(reader.Sub(), field.Kind),
                _ => throw Unsupported($"field kind {field.Kind}"),
            };

            if (field.Kind is Kind.StringMap or Kind.QuantityMap)
            {
                var pair = (JsonArray)value!;
                var map = obj[field.Name] as JsonObject ?? new JsonObject();
                map[pair[0]!.GetValue<string>()] = pair[1]?.DeepClone();
                obj[field.Name] = map;
                continue;
            }

            if (field.Repeated || field.Kind is Kind.Strings or Kind.Int64s)
            {
                var list = obj[field.Name] as JsonArray ?? new JsonArray();
                list.Add(value);
                obj[field.Name] = list;
                continue;
            }

            if (!field.KeepZero && value is JsonValue v && (v.TryGetValue<string>(out var s) ? s.Length == 0 : v.TryGetValue<long>(out var l) ? l == 0 : v.TryGetValue<bool>(out var b) && !b))
            {
                continue;
            }

            obj[field.Name] = value;
        }

        return obj;
    }

    private static bool IsZero(int wire, Reader reader, int start) => wire == 0 && reader.Data[start] == 0;

    private static long Varint(Reader reader, int wire) => wire == 0 ? (long)reader.Varint() : throw Unsupported("unexpected wire type");

    private static JsonNode? Time(Reader reader)
    {
        long seconds = 0;
        while (reader.More)
        {
            var (n, w) = reader.Tag();
            if (n == 1 && w == 0)
            {
                seconds = (long)reader.Varint();
            }
            else
            {
                reader.Skip(w);
            }
        }

        return seconds == 0 ? null : ObjectStore.Timestamp(DateTimeOffset.FromUnixTimeSeconds(seconds));
    }

    private static JsonNode? IntOrString(Reader reader)
    {
        long type = 0, intValue = 0;
        var text = string.Empty;
        while (reader.More)
        {
            var (n, w) = reader.Tag();
            switch (n)
            {
                case 1: type = (long)reader.Varint(); break;
                case 2: intValue = (long)reader.Varint(); break;
                case 3: text = reader.String(); break;
                default: reader.Skip(w); break;
            }
        }

        return type == 1 ? text : (JsonNode)(int)intValue;
    }

    private static string QuantityString(Reader reader)
    {
        var text = string.Empty;
        while (reader.More)
        {
            var (n, w) = reader.Tag();
            if (n == 1 && w == 2)
            {
                text = reader.String();
            }
            else
            {
                reader.Skip(w);
            }
        }

        return text;
    }

    private static JsonArray MapEntry(Reader reader, Kind kind)
    {
        var key = string.Empty;
        JsonNode? value = kind == Kind.StringMap ? string.Empty : "0";
        while (reader.More)
        {
            var (n, w) = reader.Tag();
            if (n == 1)
            {
                key = reader.String();
            }
            else if (n == 2)
            {
                value = kind == Kind.StringMap ? reader.String() : QuantityString(reader.Sub());
            }
            else
            {
                reader.Skip(w);
            }
        }

        return new JsonArray(key, value);
    }

    private static ApiStatusException Unsupported(string message) =>
        new(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", message);

    private sealed class Reader(byte[] data, int position, int end)
    {
        public byte[] Data => data;

        public int Position => position;

        public bool More => position < end;

        public (int Number, int Wire) Tag()
        {
            var tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public ulong Varint()
        {
            ulong result = 0;
            var shift = 0;
            while (true)
            {
                if (position >= end)
                {
                    throw ApiStatus.BadRequest("the body of the request could not be decoded: truncated protobuf");
                }

                var b = data[position++];
                result |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }

                shift += 7;
            }
        }

        public byte[] Bytes()
        {
            var length = (int)Varint();
            var bytes = data.AsSpan(position, length).ToArray();
            position += length;
            return bytes;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public Reader Sub()
        {
            var length = (int)Varint();
            var sub = new Reader(data, position, position + length);
            position += length;
            return sub;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint();
                    position += length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    throw ApiStatus.BadRequest(string.Create(CultureInfo.InvariantCulture, $"the body of the request could not be decoded: protobuf wire type {wire}"));
            }
        }
    }
}
