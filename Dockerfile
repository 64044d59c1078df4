# meshsim on Debian 12: the `meshsim` binary and the bundled conformance suites.
#
#   docker build -t meshsim .
#   docker run --rm meshsim conformance conformance/suites --shard 1/4 --db /results/shard-0.db
#
# ci/setup installs exactly the packages the build and the binary need (the
# same script CI and developers run); nothing is downloaded by the build itself.
FROM debian:12 AS base
COPY ci/setup /tmp/ci/setup
RUN /tmp/ci/setup && rm -rf /var/lib/apt/lists/* /tmp/ci

FROM base AS build
WORKDIR /src
COPY . .
RUN rm -rf build && cmake --preset default -DMESHSIM_BUILD_TESTS=OFF -DMESHSIM_BUILD_BENCH=OFF \
 && cmake --build build/default --target meshsim -j "$(nproc)"

FROM base
WORKDIR /opt/meshsim
COPY --from=build /src/build/default/cli/meshsim /usr/local/bin/meshsim
# The suites refer to Istio's samples under tests/data by relative paths.
COPY --from=build /src/conformance/suites conformance/suites
COPY --from=build /src/tests/data tests/data
COPY --from=build /src/scenarios scenarios
ENTRYPOINT ["meshsim"]
CMD ["conformance", "conformance/suites"]
