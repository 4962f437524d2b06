export * from '../../tools/consul-cluster';
