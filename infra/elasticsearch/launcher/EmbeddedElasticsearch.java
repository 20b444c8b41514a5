/*
 * Starts a real, single-node Elasticsearch 7.17 (org.elasticsearch.node.Node + the Netty4 HTTP/transport
 * plugin) from the jars Maven Central publishes. Elastic ships no main class in those jars (the real one,
 * org.elasticsearch.bootstrap.Elasticsearch, expects a distribution layout with modules/ directories and a
 * security policy), so this class does the parts of Bootstrap a local development node needs:
 *
 *   1. settings: defaults below, overridden by -Ekey=value arguments (same syntax as bin/elasticsearch);
 *      path.home comes from -Des.path.home (required), config dir = <home>/config;
 *   2. InternalSettingsPreparer.prepareEnvironment (also reads <home>/config/elasticsearch.yml if present);
 *   3. LogConfigurator.configure: log4j2 from <home>/config/log4j2.properties (written by the Python launcher);
 *   4. a Node subclass that passes the module plugins found on the classpath (Netty4Plugin is mandatory,
 *      the others are loaded when their jar is on the classpath);
 *   5. block until SIGTERM/SIGINT; a shutdown hook closes the node (flushes shards, releases the node lock).
 *
 * Not done (Bootstrap-only): jar-hell check, security manager, native memory lock / seccomp, bootstrap checks.
 * Compiled by infra/launcher/services/elasticsearch.py into the stack dir; nothing compiled is committed.
 */

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.Security;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class EmbeddedElasticsearch {

    /** Module plugins published on Maven Central as "-client" jars; loaded when present on the classpath. */
    private static final String[] CLASSPATH_PLUGINS = {
        "org.elasticsearch.transport.Netty4Plugin",                             // transport-netty4-client (required)
        "org.elasticsearch.index.mapper.MapperExtrasPlugin",                    // mapper-extras-client
        "org.elasticsearch.reindex.ReindexPlugin",                              // reindex-client
        "org.elasticsearch.script.mustache.MustachePlugin",                     // lang-mustache-client
        "org.elasticsearch.join.ParentJoinPlugin",                              // parent-join-client
        "org.elasticsearch.percolator.PercolatorPlugin",                        // percolator-client
        "org.elasticsearch.search.aggregations.matrix.MatrixAggregationPlugin", // aggs-matrix-stats-client
        "org.elasticsearch.index.rankeval.RankEvalPlugin",                      // rank-eval-client
    };

    /** Node's classpath-plugin constructor is protected; this subclass only exposes it. */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private static volatile boolean startFailed = false;

    private EmbeddedElasticsearch() {}

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable t) {
            // Printed last so that the tail of the log (shown by the Python launcher) names the cause.
            if (startFailed == false) {
                t.printStackTrace();
            }
            System.err.println("EmbeddedElasticsearch: FAILED TO START: " + describe(t));
            System.err.flush();
            System.exit(1);
        }
    }

    /** "Exception: message; caused by: Root: message" on one line. */
    private static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder(t.toString());
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != t) {
            sb.append("; caused by: ").append(root);
        }
        return sb.toString();
    }

    private static void run(String[] args) throws Exception {
        // Before any logger is created (as Bootstrap does): collect log4j status errors, checked in configure().
        LogConfigurator.registerErrorListener();

        String homeProp = System.getProperty("es.path.home");
        if (homeProp == null || homeProp.isEmpty()) {
            throw new IllegalArgumentException("-Des.path.home=<dir> is required");
        }
        Path home = Paths.get(homeProp).toAbsolutePath().normalize();
        Path config = home.resolve("config");

        Settings.Builder builder = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("path.repo", home.resolve("snapshots").toString())
            .put("cluster.name", "lol-stack")
            .put("node.name", "lol-es-1")
            .put("network.host", "127.0.0.1")
            .put("http.port", "9200")
            .put("transport.port", "9300")
            .put("discovery.type", "single-node")
            // A development node on a shared disk: never turn indices read-only or refuse shards for disk usage.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.destructive_requires_name", false);
        for (String arg : args) {
            String kv = arg.startsWith("-E") ? arg.substring(2) : arg;
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected -Ekey=value, got [" + arg + "]");
            }
            builder.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        Settings settings = builder.build();
        for (String dir : new String[] {"config", "data", "logs", "plugins", "modules", "snapshots"}) {
            Files.createDirectories(home.resolve(dir));
        }

        // Bootstrap applies these two JDK security properties from the es.* system properties.
        Security.setProperty("networkaddress.cache.ttl", System.getProperty("es.networkaddress.cache.ttl", "60"));
        Security.setProperty(
            "networkaddress.cache.negative.ttl", System.getProperty("es.networkaddress.cache.negative.ttl", "10"));

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> Node.NODE_NAME_SETTING.get(settings));
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.configure(environment);
        Logger logger = LogManager.getLogger(EmbeddedElasticsearch.class);

        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String name : CLASSPATH_PLUGINS) {
            try {
                plugins.add(Class.forName(name).asSubclass(Plugin.class));
            } catch (ClassNotFoundException e) {
                if (name.endsWith("Netty4Plugin")) {
                    throw new IllegalStateException("transport-netty4-client is not on the classpath", e);
                }
                logger.info("module plugin [{}] not on the classpath: skipped", name);
            }
        }

        final Node node = new EmbeddedNode(environment, plugins);
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (startFailed) { // run() already closed the node
                Configurator.shutdown((LoggerContext) LogManager.getContext(false));
                return;
            }
            try {
                logger.info("shutdown requested: closing node");
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    logger.warn("node did not close within 20s");
                }
                logger.info("node closed");
            } catch (Exception e) {
                logger.error("error while closing node", e);
            } finally {
                stopped.countDown();
                Configurator.shutdown((LoggerContext) LogManager.getContext(false));
            }
        }, "es-shutdown"));

        try {
            node.start();
        } catch (Throwable t) {
            logger.error("node failed to start", t);
            startFailed = true;
            try {
                node.close();
            } catch (Exception closeError) {
                t.addSuppressed(closeError);
            }
            throw t;
        }
        logger.info("embedded node started: {} plugins {}", Node.NODE_NAME_SETTING.get(environment.settings()),
            plugins.stream().map(Class::getSimpleName).toArray());
        stopped.await(); // non-daemon main thread keeps the JVM alive until the shutdown hook ran
    }
}
