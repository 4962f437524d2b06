export * from '../../tools/consul-agent';
